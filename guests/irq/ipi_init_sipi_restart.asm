; INIT to a running AP puts it back in wait-for-SIPI, and a start-up IPI then starts it in
; real mode at CS = vector << 8, IP = 0 of the new vector (SDM Vol. 3A 9.4.4, 10.6.1;
; KVM kvm_apic_accept_events).  The AP parked after payload_ap_main (CLI; HLT) is sent
; INIT and a SIPI with the vector of restart_page, whose first instruction (IP 0) starts
; 16-bit code that stores its CS and a marker.  A SIPI without an INIT before it is ignored: sent first, it must not restart
; the AP.  Catches: INIT ignored for a running or halted vCPU, the SIPI vector or CS
; wrong after the restart, a SIPI that restarts a running AP.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 40000000
%define RESTART_VECTOR ((restart_page - $$ + PL_LOAD_ADDR) >> 12)
%include "payload.inc"
PAYLOAD ipi_init_sipi_restart, irq, long64, "INIT then SIPI restarts a running AP in real mode at the new vector"
payload_main:
    WAIT_COUNT parked, 1, 4000000000
    CHECK_EQ rax, 1, "the AP ran payload_ap_main and parked"
    SEND_IPI 1, ICR_STARTUP | ICR_ASSERT | RESTART_VECTOR   ; no INIT first: ignored
    WAIT_COUNT marker, 1, 20000000
    CHECK_EQ [marker], 0, "a SIPI to an AP not waiting for one is ignored"
    SEND_IPI 1, ICR_INIT | ICR_ASSERT
    SEND_IPI 1, ICR_STARTUP | ICR_ASSERT | RESTART_VECTOR
    WAIT_COUNT marker, 0x1234, 4000000000
    CHECK_EQ rax, 0x1234, "INIT + SIPI restarted the AP at restart_page"
    CHECK_EQ [restart_cs], RESTART_VECTOR << 8, "its CS was the SIPI vector << 8"
    PAYLOAD_DONE

payload_ap_main:
    lock inc qword [parked]
    ret                         ; smp.inc parks the AP: CLI; HLT

    [bits 16]
    align 4096
restart_page:                   ; CS = RESTART_VECTOR << 8, IP = 0, DS = 0 after INIT
    mov bx, cs
    xor cx, cx
    mov ds, cx                  ; DS = 0: the variables' linear addresses
    mov [restart_cs], bx
    mov word [marker], 0x1234
.stop:
    cli
    hlt
    jmp .stop
    [bits 64]

    align 8
parked:     dq 0
marker:     dq 0
restart_cs: dq 0

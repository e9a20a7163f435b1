; An AP that the harness started (v3 ap_entry: KVM_SET_MP_STATE RUNNABLE, no INIT ever
; taken) follows the same INIT/SIPI rules as one started by INIT/SIPI: a start-up IPI to it
; is ignored, since only a vCPU in INIT_RECEIVED accepts a SIPI (KVM lapic.c
; kvm_apic_accept_events; SDM Vol. 3A 10.6.1), and INIT then SIPI restarts it in real mode
; at CS = vector << 8, IP = 0.  Catches: SET_MP_STATE RUNNABLE leaving the vCPU in a
; wait-for-SIPI state (the lone SIPI would restart it), a SIPI remembered and applied at
; the later INIT, INIT ignored for a vCPU that never had one.
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_AP_HARNESS_START
%define PL_BUDGET 40000000
%define RESTART_VECTOR ((restart_page - $$ + PL_LOAD_ADDR) >> 12)
%include "payload.inc"
PAYLOAD smp_harness_init_sipi, irq, long64, "an AP the harness started (never INIT) ignores a lone SIPI; INIT then SIPI restarts it"
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

; An INIT level de-assert IPI (ICR delivery mode 101b, trigger mode level, level 0) does
; nothing to the target (SDM Vol. 3A 10.6.1: it only synchronises arbitration IDs, and
; P6+ processors do not support it; KVM __apic_accept_irq handles APIC_DM_INIT only when
; level is asserted or the trigger is edge).  The AP counts in a loop; after the de-assert
; it is still counting, in 64-bit mode, not reset into wait-for-SIPI.  Then a real INIT
; (assert) does stop it.  Catches: every INIT treated as an INIT (the AP stops counting).
%define PL_FLAGS PL_F_IRQCHIP
%define PL_VCPUS 2
%define PL_BUDGET 60000000
%include "payload.inc"
PAYLOAD ipi_init_deassert_ignored, irq, long64, "an INIT level de-assert leaves the AP running; an INIT assert stops it"
payload_main:
    WAIT_COUNT ticks, 1, 4000000000
    CHECK_GE rax, 1, "the AP is counting"
    SEND_IPI 1, ICR_INIT | ICR_LEVEL            ; level-triggered, level 0: de-assert
    mov rbx, [ticks]
    add rbx, 1000
    WAIT_COUNT ticks, rbx, 4000000000
    CHECK_GE rax, rbx, "the AP still counts after an INIT de-assert"
    SEND_IPI 1, ICR_INIT | ICR_ASSERT            ; edge INIT: the AP waits for SIPI now
    WAIT_COUNT never, 1, 20000000               ; let it take the INIT
    mov rbx, [ticks]
    WAIT_COUNT never, 1, 20000000
    CHECK_EQ [ticks], rbx, "after an INIT assert the AP no longer counts"
    PAYLOAD_DONE

payload_ap_main:
.count:
    lock inc qword [ticks]
    pause
    jmp .count
    align 8
ticks:  dq 0
never:  dq 0

; CBW/CWDE/CDQE and CWD/CDQ/CQO.  SDM Vol. 2: CBW/CWDE/CDQE sign-extend AL/AX/EAX
; into AX/EAX/RAX; CWD/CDQ/CQO copy the sign of AX/EAX/RAX into every bit of
; DX/EDX/RDX (EDX write zero-extends to RDX; DX write keeps RDX[63:16]).
%include "payload.inc"
PAYLOAD sign_extend_acc, emulator, long64, "CBW/CWDE/CDQE and CWD/CDQ/CQO"
payload_main:
    mov rax, 0x1111111111111180
    cbw
    CHECK_EQ rax, 0x111111111111FF80, "cbw: AX = sign-extended AL"
    mov rax, 0x1111111111118000
    cwde
    CHECK_EQ rax, 0xFFFF8000, "cwde: EAX = sign-extended AX, RAX[63:32] = 0"
    mov rax, 0x1111111180000000
    cdqe
    CHECK_EQ rax, 0xFFFFFFFF80000000, "cdqe"
    mov rdx, 0x2222222222222222
    mov ax, 0x8000
    cwd
    CHECK_EQ rdx, 0x222222222222FFFF, "cwd writes DX only"
    mov rdx, 0x2222222222222222
    mov eax, 0x7FFFFFFF
    cdq
    CHECK_EQ rdx, 0, "cdq positive: EDX = 0, RDX[63:32] cleared"
    mov rax, -5
    cqo
    CHECK_EQ rdx, -1, "cqo negative: RDX = all ones"
    PAYLOAD_DONE

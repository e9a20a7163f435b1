; String instructions.  SDM Vol. 2 MOVS/STOS/LODS/CMPS/SCAS, REP/REPE/REPNE:
; RSI/RDI step by the element size, up with DF = 0 and down with DF = 1; REP
; runs RCX times; REPE/REPNE also stop when ZF becomes 0/1 (RCX counts the
; executed iteration); with RCX = 0 nothing is done.
%include "payload.inc"
PAYLOAD string_rep_df, emulator, long64, "REP MOVS/STOS/LODS, REPE CMPS, REPNE SCAS with DF=0/1"
payload_main:
    cld
    mov rsi, src
    mov rdi, dst
    mov ecx, 16
    rep movsb
    CHECK_EQ rcx, 0, "rep movsb: RCX = 0"
    CHECK_EQ rsi, src + 16, "rep movsb: RSI += 16"
    CHECK_EQ rdi, dst + 16, "rep movsb: RDI += 16"
    mov rax, [dst + 8]
    CHECK_EQ rax, [src + 8], "rep movsb copied the data"
    std
    mov rsi, src + 12               ; last dword
    mov rdi, dst2 + 12
    mov ecx, 4
    rep movsd
    cld
    CHECK_EQ rsi, src - 4, "rep movsd DF=1: RSI -= 16"
    CHECK_EQ rdi, dst2 - 4, "rep movsd DF=1: RDI -= 16"
    mov rax, [dst2]
    CHECK_EQ rax, [src], "rep movsd DF=1 copied the data"
    mov rdi, dst
    mov ax, 0xABCD
    mov ecx, 8
    rep stosw
    CHECK_EQ rdi, dst + 16, "rep stosw: RDI += 16"
    mov rax, [dst + 8]
    CHECK_EQ rax, 0xABCDABCDABCDABCD, "rep stosw filled"
    mov rsi, src + 3
    std
    lodsb
    cld
    CHECK_EQ rsi, src + 2, "lodsb DF=1: RSI -= 1"
    movzx eax, al
    CHECK_EQ rax, 'd', "lodsb loaded src[3]"
    mov rsi, str1
    mov rdi, str2
    mov ecx, 6
    repe cmpsb                      ; stops after the mismatch at index 3
    CHECK_FLAGS FL_ZF, 0, "repe cmpsb: ZF = 0 at the mismatch"
    CHECK_EQ rcx, 2, "repe cmpsb: RCX = 6 - 4"
    CHECK_EQ rsi, str1 + 4, "repe cmpsb: RSI past the mismatch"
    mov rdi, str1
    mov al, 'd'
    mov ecx, 6
    repne scasb                     ; stops after the match at index 3
    CHECK_FLAGS FL_ZF, FL_ZF, "repne scasb: ZF = 1 at the match"
    CHECK_EQ rcx, 2, "repne scasb: RCX = 6 - 4"
    CHECK_EQ rdi, str1 + 4, "repne scasb: RDI past the match"
    xor ecx, ecx
    mov rdi, dst
    stc
    rep stosb                       ; RCX = 0: nothing
    CHECK_EQ rdi, dst, "rep stosb with RCX = 0 does nothing"
    PAYLOAD_DONE
src:  db "abcdefghijklmnop"
str1: db "abcdef"
str2: db "abcxef"
    align 8
dst:  times 16 db 0
dst2: times 16 db 0

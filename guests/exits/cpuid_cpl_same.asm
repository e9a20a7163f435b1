; CPUID answers the same at CPL0 and at CPL3.  SDM Vol. 3C 25.1.2: in VMX non-root
; operation CPUID causes a VM exit unconditionally, at every privilege level, so under
; KVM on VMX every guest CPUID is answered by kvm_emulate_cpuid -> kvm_cpuid from the
; vCPU's KVM_SET_CPUID2 table (Linux 6.1 arch/x86/kvm/cpuid.c), whatever the CPL.  A
; host that runs CPL3 code natively (without CPUID faulting) answers CPL3 CPUID from its
; own CPU instead, and a guest's feature checks then depend on its privilege level.
;
; The harness also runs this payload once at the start of `kvm-unit run`, on every
; backend, and reads what the guest saw at GPA 0x100000 (guests/README.md, "Guest-visible
; CPUID"): u32 'CPID', u32 count, 8 bytes zero, then per leaf 40 bytes: u32 leaf, u32
; sub-leaf, EAX EBX ECX EDX at CPL0, EAX EBX ECX EDX at CPL3.
%define PL_SETUP
%define PL_GPR_UNDEF (GPR_RAX | GPR_RBX | GPR_RCX | GPR_RDX | GPR_RSI | GPR_RDI)
%include "payload.inc"
PAYLOAD cpuid_cpl_same, exits, user64, "CPUID answers the same at CPL0 and CPL3 (it always exits on VMX)"

RESULTS  equ 0x100000                   ; in RAM, identity-mapped, user-writable (boot.inc)
RECORDS  equ RESULTS + 16
REC_SIZE equ 40

; The leaves a feature check reads: basic, thermal/power, structured extended features
; (both sub-leaves), XSAVE (sub-leaves 0 and 1), KVM's signature and features, extended.
%macro LEAF_LIST 0
    ONE 0x00000000, 0, "0H"
    ONE 0x00000001, 0, "1H"
    ONE 0x00000006, 0, "6H"
    ONE 0x00000007, 0, "7H.0"
    ONE 0x00000007, 1, "7H.1"
    ONE 0x0000000D, 0, "0DH.0"
    ONE 0x0000000D, 1, "0DH.1"
    ONE 0x40000000, 0, "40000000H"
    ONE 0x40000001, 0, "40000001H"
    ONE 0x80000000, 0, "80000000H"
    ONE 0x80000001, 0, "80000001H"
    ONE 0x80000007, 0, "80000007H"
    ONE 0x80000008, 0, "80000008H"
%endmacro

; CPL0 (payload_setup): every leaf into its record's CPL0 half.
%macro ONE 3
    mov eax, %1
    mov ecx, %2
    cpuid
    mov dword [RECORDS + __n * REC_SIZE], %1
    mov dword [RECORDS + __n * REC_SIZE + 4], %2
    mov [RECORDS + __n * REC_SIZE + 8], eax
    mov [RECORDS + __n * REC_SIZE + 12], ebx
    mov [RECORDS + __n * REC_SIZE + 16], ecx
    mov [RECORDS + __n * REC_SIZE + 20], edx
    %assign __n __n + 1
%endmacro

payload_setup:
    %assign __n 0
    LEAF_LIST
    mov dword [RESULTS], 'CPID'
    mov dword [RESULTS + 4], __n
    ret

; CPL3 (payload_main): every leaf into the CPL3 half, then each register against CPL0.
%unmacro ONE 3
%macro ONE 3
    mov eax, %1
    mov ecx, %2
    cpuid
    mov [RECORDS + __n * REC_SIZE + 24], eax
    mov [RECORDS + __n * REC_SIZE + 28], ebx
    mov [RECORDS + __n * REC_SIZE + 32], ecx
    mov [RECORDS + __n * REC_SIZE + 36], edx
    %assign __r 0
    %rep 4
        %substr __reg "ABCD" __r + 1
        %strcat __msg "CPUID.", %3, ":E", __reg, "X at CPL3 = at CPL0"
        mov esi, [RECORDS + __n * REC_SIZE + 24 + 4 * __r]
        mov edi, [RECORDS + __n * REC_SIZE + 8 + 4 * __r]
        %if %1 == 1 && __r == 1
            ; CPUID.1:EBX[31:24] is the initial APIC ID of the processor that executed it:
            ; where CPL3 runs natively, the host core the vCPU thread happened to be on.
            and esi, 0x00FFFFFF
            and edi, 0x00FFFFFF
        %endif
        CHECK_EQ esi, edi, __msg
        %assign __r __r + 1
    %endrep
    %assign __n __n + 1
%endmacro

payload_main:
    %assign __n 0
    LEAF_LIST
    PAYLOAD_DONE

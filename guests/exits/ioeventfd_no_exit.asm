; KVM_IOEVENTFD: a guest write that matches an ioeventfd signals its eventfd and makes no
; exit; one that does not match (another length, another value with DATAMATCH, a read, a
; deassigned ioeventfd) exits to userspace as before.  Linux 6.1 virt/kvm/eventfd.c
; ioeventfd_in_range (address, then length unless 0, then the value unless wildcard),
; ioeventfd_write (eventfd_signal), kvm_assign_ioeventfd_idx (-EEXIST for the same one
; twice: ioeventfd_check_collision), kvm_deassign_ioeventfd_idx (-ENOENT when none
; matches), kvm_ioeventfd (-EINVAL for a length other than 0, 1, 2, 4, 8).
;
; What it catches: a backend that exits for a write an ioeventfd takes (counted by the
; harness: host request 0x13 op 9), signals for the wrong length or value, counts a read,
; keeps a deassigned ioeventfd, or gets the errno rules wrong.
%include "payload.inc"
PAYLOAD ioeventfd_no_exit, exits, long64, "KVM_IOEVENTFD: matching PIO/MMIO writes signal the eventfd with no exit; others exit"
%define IOEV_PORT   0x510
%define IOEV_DM     0x514
%define IOEV_GPA    0xE0000000          ; no memslot: MMIO

payload_main:
    ; A 4-byte PIO ioeventfd on eventfd 0, a 2-byte DATAMATCH one on eventfd 1, a 4-byte MMIO
    ; one on eventfd 2.
    EVENTFD EFD_IOEVENTFD, 0, IOEV_PORT, 0, 4, IOEVENTFD_PIO
    CHECK_EQ rax, 0, "assign PIO ioeventfd"
    EVENTFD EFD_IOEVENTFD, 1, IOEV_DM, 0xBEEF, 2, IOEVENTFD_PIO | IOEVENTFD_DATAMATCH
    CHECK_EQ rax, 0, "assign PIO DATAMATCH ioeventfd"
    EVENTFD EFD_IOEVENTFD, 2, IOEV_GPA, 0, 4, 0
    CHECK_EQ rax, 0, "assign MMIO ioeventfd"

    ; Three matching OUTs: no exit, the counter is 3.
    EXITS_MARK
    mov dx, IOEV_PORT
    mov eax, 0x11111111
    out dx, eax
    out dx, eax
    out dx, eax
    CHECK_EXITS_SINCE 1, "three 4-byte OUTs to the ioeventfd's port made no exit"
    EVENTFD EFD_READ, 0, 0, 0, 0, 0
    CHECK_EQ rax, 3, "eventfd 0 signalled three times"

    ; A 1-byte OUT to the same port does not match the length: one exit, no signal.
    EXITS_MARK
    mov dx, IOEV_PORT
    out dx, al
    CHECK_EXITS_SINCE 2, "a 1-byte OUT to a 4-byte ioeventfd exits"
    EVENTFD EFD_READ, 0, 0, 0, 0, 0
    CHECK_EQ rax, 0, "and does not signal it"

    ; DATAMATCH: BEEFH twice (no exits), 1234H once (an exit).
    EXITS_MARK
    mov dx, IOEV_DM
    mov ax, 0xBEEF
    out dx, ax
    mov ax, 0x1234
    out dx, ax
    mov ax, 0xBEEF
    out dx, ax
    CHECK_EXITS_SINCE 2, "only the OUT of another value exits"
    EVENTFD EFD_READ, 1, 0, 0, 0, 0
    CHECK_EQ rax, 2, "eventfd 1 signalled for the matching value only"

    ; MMIO: two 4-byte stores signal; a 2-byte store and a load exit (KVM_EXIT_MMIO; the
    ; load reads all ones, no window claims the address).
    mov rbx, IOEV_GPA
    EXITS_MARK
    mov dword [rbx], 0x5A5A5A5A
    mov dword [rbx], 0xA5A5A5A5
    CHECK_EXITS_SINCE 1, "two 4-byte stores to the MMIO ioeventfd made no exit"
    EXITS_MARK
    mov word [rbx], 0x5A5A
    mov ecx, [rbx]
    CHECK_EXITS_SINCE 3, "a 2-byte store and a load of the address exit"
    CHECK_EQ rcx, 0xFFFFFFFF, "the load reads the unclaimed bus"
    EVENTFD EFD_READ, 2, 0, 0, 0, 0
    CHECK_EQ rax, 2, "eventfd 2 signalled by the two 4-byte stores only"

    ; Argument rules.
    EVENTFD EFD_IOEVENTFD, 3, 0x520, 0, 3, IOEVENTFD_PIO
    CHECK_EQ rax, -22, "length 3: -EINVAL"
    EVENTFD EFD_IOEVENTFD, 0, IOEV_PORT, 0, 4, IOEVENTFD_PIO
    CHECK_EQ rax, -17, "the same ioeventfd again: -EEXIST"
    EVENTFD EFD_IOEVENTFD, 0, IOEV_PORT + 8, 0, 4, IOEVENTFD_PIO | IOEVENTFD_DEASSIGN
    CHECK_EQ rax, -2, "deassigning one that is not there: -ENOENT"

    ; Deassigned: the OUT exits again and the eventfd stays at 0.
    EVENTFD EFD_IOEVENTFD, 0, IOEV_PORT, 0, 4, IOEVENTFD_PIO | IOEVENTFD_DEASSIGN
    CHECK_EQ rax, 0, "deassign the PIO ioeventfd"
    EXITS_MARK
    mov dx, IOEV_PORT
    out dx, eax
    CHECK_EXITS_SINCE 2, "after KVM_IOEVENTFD_FLAG_DEASSIGN the OUT exits"
    EVENTFD EFD_READ, 0, 0, 0, 0, 0
    CHECK_EQ rax, 0, "and signals nothing"
    PAYLOAD_DONE

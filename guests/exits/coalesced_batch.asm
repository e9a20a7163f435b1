; KVM_REGISTER_COALESCED_MMIO: guest writes inside a coalesced zone (MMIO, and PIO with
; KVM_CAP_COALESCED_PIO) make no exit; KVM appends each to the ring (struct
; kvm_coalesced_mmio: phys_addr, len, pio, data) in order, and the VMM finds them there.
; Reads are not batched (they exit), and writes after KVM_UNREGISTER_COALESCED_MMIO exit
; again.  Linux 6.1 virt/kvm/coalesced_mmio.c coalesced_mmio_write (in range, room in the
; ring: append, no exit), kvm_vm_ioctl_register_coalesced_mmio (pio other than 0 or 1:
; -EINVAL), kvm_vm_ioctl_unregister_coalesced_mmio (0 whether or not a zone matched).
;
; What it catches: a backend that exits for a batched write, loses, reorders or truncates
; entries (address, length, the PIO bit, the data bytes), batches reads, or keeps a zone
; after it is unregistered.  The harness drains the ring into RAM (host request 0x13 op 8).
%define PL_CAP0 15                      ; KVM_CAP_COALESCED_MMIO
%define PL_CAP1 162                     ; KVM_CAP_COALESCED_PIO
%include "payload.inc"
PAYLOAD coalesced_batch, exits, long64, "coalesced MMIO/PIO zones: writes batched in the ring in order, no exit; reads exit"
%define ZONE_GPA    0xE0100000          ; no memslot: MMIO
%define ZONE_PORT   0x520

; CHECK_ENTRY i, phys_addr, len | pio << 32, data : the i-th drained ring entry.
%macro CHECK_ENTRY 4
    %defstr %%i %1
    %strcat %%a "ring entry ", %%i, ": phys_addr"
    %strcat %%l "ring entry ", %%i, ": len and pio"
    %strcat %%d "ring entry ", %%i, ": data"
    CHECK_EQ [ring + (%1) * 24], %2, %%a
    CHECK_EQ [ring + (%1) * 24 + 8], %3, %%l
    CHECK_EQ [ring + (%1) * 24 + 16], %4, %%d
%endmacro

payload_main:
    EVENTFD EFD_ZONE, 0, ZONE_GPA, 0, 0x100, 0
    CHECK_EQ rax, 0, "register an MMIO zone"
    EVENTFD EFD_ZONE, 0, ZONE_PORT, 0, 4, 1
    CHECK_EQ rax, 0, "register a PIO zone"
    EVENTFD EFD_ZONE, 0, 0x600, 0, 4, 2
    CHECK_EQ rax, -22, "pio 2: -EINVAL"

    ; Six writes, MMIO and PIO interleaved, in every size: no exit.
    mov rbx, ZONE_GPA
    mov rcx, 0x8877665544332211
    EXITS_MARK
    mov byte [rbx], 0x11
    mov word [rbx + 0x10], 0x2233
    mov dx, ZONE_PORT
    mov eax, 0xCAFEBABE
    out dx, eax
    mov dword [rbx + 0x20], 0x44556677
    mov dx, ZONE_PORT + 2
    mov al, 0x5E
    out dx, al
    mov [rbx + 0x30], rcx
    CHECK_EXITS_SINCE 1, "six writes into coalesced zones made no exit"

    ; A read of the zone is not batched: it exits (and reads the unclaimed bus).
    EXITS_MARK
    mov esi, [rbx + 0x20]
    CHECK_EXITS_SINCE 2, "a read of the zone exits"
    CHECK_EQ rsi, 0xFFFFFFFF, "and reads all ones"

    ; The ring, in order.
    EVENTFD EFD_DRAIN, 0, ring, 0, 8, 0
    CHECK_EQ rax, 6, "six entries in the ring"
    CHECK_ENTRY 0, ZONE_GPA, 1, 0x11
    CHECK_ENTRY 1, ZONE_GPA + 0x10, 2, 0x2233
    CHECK_ENTRY 2, ZONE_PORT, 0x100000004, 0xCAFEBABE
    CHECK_ENTRY 3, ZONE_GPA + 0x20, 4, 0x44556677
    CHECK_ENTRY 4, ZONE_PORT + 2, 0x100000001, 0x5E
    CHECK_ENTRY 5, ZONE_GPA + 0x30, 8, 0x8877665544332211
    EVENTFD EFD_DRAIN, 0, ring, 0, 8, 0
    CHECK_EQ rax, 0, "the ring is empty once drained"

    ; A write outside the zone (and one past its end) exits.
    EXITS_MARK
    mov dword [rbx + 0xFE], 1           ; crosses the zone's end
    mov dx, ZONE_PORT + 4
    out dx, al
    CHECK_EXITS_SINCE 3, "writes that do not fit in a zone exit"

    ; Unregistered: writes exit again and the ring stays empty. Unregistering what is not
    ; there still answers 0.
    EVENTFD EFD_ZONE_REMOVE, 0, ZONE_GPA, 0, 0x100, 0
    CHECK_EQ rax, 0, "unregister the MMIO zone"
    EVENTFD EFD_ZONE_REMOVE, 0, 0x700, 0, 4, 1
    CHECK_EQ rax, 0, "unregistering a zone that does not exist: 0"
    EXITS_MARK
    mov byte [rbx], 0x99
    CHECK_EXITS_SINCE 2, "after KVM_UNREGISTER_COALESCED_MMIO the write exits"
    EVENTFD EFD_DRAIN, 0, ring, 0, 8, 0
    CHECK_EQ rax, 0, "and is not in the ring"
    PAYLOAD_DONE

    [section .data]
    align 8
ring:
    times 8 * 24 db 0
    __?SECT?__

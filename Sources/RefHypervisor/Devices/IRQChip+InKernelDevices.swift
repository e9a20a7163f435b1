// The CPU reaches the irqchip through the CPU folder's InKernelDevices hooks; IRQChip's
// methods already have those exact signatures. readTPR/writeTPR carry the full 8-bit TPR
// (CR8 = TPR[7:4]; see IRQChip.readCR8/writeCR8).
extension IRQChip: InKernelDevices {}

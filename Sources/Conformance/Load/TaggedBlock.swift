// Parameter blocks inside a payload image, found by an 8-byte tag after the header:
// KVMUBNCH (bench loops), KVMUFORM (form payloads), KVMUFUZZ (the fuzz template).

import GuestPayloads
import PayloadFormat

extension Payload {
    /// Image offset of the first occurrence of `tag` after the header, nil if none.
    public func offset(ofTag tag: [UInt8]) -> Int? {
        let image = self.image
        guard let first = tag.first else { return nil }
        var i = PayloadHeader.size
        while i + tag.count <= image.count {
            if image[i] == first && image[i..<(i + tag.count)].elementsEqual(tag) { return i }
            i += 1
        }
        return nil
    }
}

import Foundation
@testable import LSTMFormat
import ZIPFoundation

/// Read options that discard notes (a note is not a finding).
let quietOptions = ReadOptions(warn: { _ in })

/// torch pickle (`data.pkl`), fed to the restricted unpickler as raw bytes. Properties of a pickle that loads to
/// a state dict: every tensor view is materialized exactly when it lies inside its storage, and then holds the
/// storage elements a naive index walk names (checked on a storage whose element k holds k); and the names,
/// dtypes and shapes written back by our pickle writer load again to the same state dict and metadata.
func fuzzPickle(_ data: Data) {
    guard let root = try? RestrictedUnpickler.load(data), let dict = try? TorchCheckpoint.stateDict(root, key: nil) else { return }
    var written: [(name: String, dtype: DType, shape: [Int])] = []
    for (key, value) in dict.entries {
        guard case .string(let name) = key, case .tensor(let ref) = value else { fatalError("a state dict entry is not name -> tensor") }
        checkView(ref, name: name)
        if let entry = WeightsOnlyGlobals.storages[ref.storage.className], let dtype = entry,
           Tensor.elementCount(ref.size.map { max($0, 1) }) != nil {
            written.append((name, dtype, ref.size))
        }
    }
    let stored = TorchCheckpoint.storedMetadata(dict)
    let bytes = TorchPickleWriter.stateDict(written, metadata: stored)
    if written.isEmpty { return }
    let back: PickleDict
    do { back = try TorchCheckpoint.stateDict(try RestrictedUnpickler.load(bytes), key: nil) } catch {
        fatalError("the pickle our writer made of \(written) does not load to a state dict: \(error)")
    }
    require(back.entries.count == written.count, "the written state dict has \(back.entries.count) entries, not \(written.count)")
    for ((key, value), w) in zip(back.entries, written) {
        guard case .string(let name) = key, case .tensor(let ref) = value else { fatalError("a written entry is not name -> tensor") }
        require(name == w.name && ref.size == w.shape && ref.offset == 0 && ref.stride == TorchPickleWriter.contiguousStrides(w.shape)
                     && ref.storage.className == "torch." + TorchPickleWriter.storageClass(w.dtype) && ref.storage.numel == w.shape.reduce(1, *),
                     "the written entry \(w.name) \(w.shape) reads back as \(name) \(ref)")
    }
    require(TorchCheckpoint.storedMetadata(back) == stored, "the written _metadata reads back different")
}

/// One tensor view against a storage of exactly `numel` elements whose element k holds k (little-endian,
/// truncated to the element size): `materialize` succeeds exactly when every index the view names is inside the
/// storage, and then element j of the result is the storage element at offset + Σ index·stride.
func checkView(_ ref: TorchTensorRef, name: String) {
    guard let entry = WeightsOnlyGlobals.storages[ref.storage.className] else { fatalError("a storage class the unpickler should refuse") }
    guard let dtype = entry else {
        require((try? TorchTensorView.materialize(ref, name: name, storage: Data())) == nil, "an unsupported storage class materialized")
        return
    }
    let size = dtype.byteSize
    guard ref.storage.numel <= 1 << 16, let count = Tensor.elementCount(ref.size), count <= 1 << 16 else { return }
    var storage = Data(count: ref.storage.numel * size)
    storage.withUnsafeMutableBytes { raw in
        for k in 0..<ref.storage.numel { withUnsafeBytes(of: UInt64(k).littleEndian) { raw.baseAddress!.advanced(by: k * size).copyMemory(from: $0.baseAddress!, byteCount: size) } }
    }
    let result = try? TorchTensorView.materialize(ref, name: name, storage: storage)
    guard ref.size.count == ref.stride.count else { require(result == nil, "a view whose size and stride differ in rank materialized"); return }
    // Every position, by an odometer over the indices (C order), independent of the reader's walk.
    var positions: [Int] = []
    var inside = true
    if count > 0 {
        var index = [Int](repeating: 0, count: ref.size.count)
        for _ in 0..<count {
            var p = ref.offset, overflow = false
            for (i, s) in zip(index, ref.stride) {
                let (m, o1) = i.multipliedReportingOverflow(by: s)
                let (q, o2) = p.addingReportingOverflow(m)
                overflow = overflow || o1 || o2
                p = q
            }
            if overflow || p < 0 || p >= ref.storage.numel { inside = false; break }
            positions.append(p)
            var d = ref.size.count - 1
            while d >= 0 { index[d] += 1; if index[d] < ref.size[d] { break }; index[d] = 0; d -= 1 }
        }
    }
    guard inside else { require(result == nil, "a view reaching outside its storage materialized: \(ref)"); return }
    guard let tensor = result else { fatalError("a view inside its storage was refused: \(ref)") }
    require(tensor.dtype == dtype && tensor.shape == ref.size, "the view materialized with dtype \(tensor.dtype) shape \(tensor.shape)")
    tensor.bytes.withUnsafeBytes { raw in
        for (j, p) in positions.enumerated() {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: raw.baseAddress! + j * size, byteCount: size) }
            let mask: UInt64 = size == 8 ? ~0 : (1 << (8 * UInt64(size))) - 1
            require(UInt64(littleEndian: v) == UInt64(p) & mask, "element \(j) of \(ref) is storage element \(v), not \(p)")
        }
    }
}

/// torch.save archives (the whole zip path): a file that reads to a canonical model is written back by our
/// torch writer (which must accept every model a torch file gives) into an archive that reads to the same model.
func fuzzTorch(_ data: Data) {
    guard let archive = try? ZipArchive(data: data), let (entries, stored) = try? TorchArchive.read(archive, options: quietOptions),
          let model = try? PyTorchStateDict.model(entries, orderKnown: true, stored: stored, options: quietOptions, format: TorchFormat.name)
    else { return }
    let written: (entries: [(name: String, tensor: Tensor)], metadata: [String: String])
    do { written = try PyTorchStateDict.stateDict(model) } catch { fatalError("a model read from a torch file cannot be written as one: \(error)") }
    guard let zip = try? Archive(data: Data(), accessMode: .create) else { fatalError("no in-memory archive") }
    for (name, bytes) in TorchArchiveWriter.members(written.entries, metadata: written.metadata) {
        do {
            try zip.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: .none) { position, size in
                bytes.subdata(in: (bytes.startIndex + Int(position))..<(bytes.startIndex + Int(position) + size))
            }
        } catch { fatalError("ZIPFoundation cannot write member \(name): \(error)") }
    }
    do {
        let back = try TorchArchive.read(try ZipArchive(data: zip.data!), options: quietOptions)
        let again = try PyTorchStateDict.model(back.entries, orderKnown: true, stored: back.stored, options: quietOptions, format: TorchFormat.name)
        require(again.architecture == model.architecture, "round trip changed the architecture")
        require(again.tensors == model.tensors, "round trip changed a tensor")
        require(again.metadata == model.metadata, "round trip changed the metadata: \(model.metadata) -> \(again.metadata)")
    } catch { fatalError("the torch file our writer made does not read: \(error)") }
}

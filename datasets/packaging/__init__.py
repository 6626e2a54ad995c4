"""Bundle building: plain functions over files and bytes (no ORM), called by the dataset build.

tar.py        the WebDataset shard writer: ustar members written directly, shards rolled at a size, hashed
manifest.py   the manifest schema, manifest.parquet and manifest.jsonl, and each sample's JSON
checksums.py  SHA256SUMS over the bundle, its Ed25519 signature (SHA256SUMS.sig) and their verification
"""

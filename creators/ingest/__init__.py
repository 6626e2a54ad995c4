"""The ingest pipeline: plain functions over files and bytes (no ORM), called by creators.tasks.

limits.py   what is accepted, and the MediaRejected error every check raises
hashing.py  sha256 (streamed), the 64-bit perceptual hash, Hamming distance
images.py   one pass over a still image: probe, metadata, phash, quality, faces, derivatives
video.py    one streaming pass over a video: probe, metadata, keyframe hashes, motion, poster, preview
"""

"""The product cache: content digests, the code digest, the key, the store.

- :mod:`.digests`: xxh3-128 digests of bytes, files and streams;
- :mod:`.statcache`: ``stat`` signature → digest, so unchanged inputs are not re-read;
- :mod:`.tables`: table digests of Parquet/Arrow files (their rows, not their bytes),
  memoized by file digest; :mod:`.tablefiles` reads those files;
- :mod:`.code`: the normalized code digest of a notebook and the local modules it imports;
- :mod:`.key`: the canonical key document and miss reasons;
- :mod:`.store`: objects, manifests, atomic publish and restore;
- :mod:`.admin`: ``nbrules cache stats|verify|gc``.

Nothing here knows about Snakemake, jobs or engines.
"""

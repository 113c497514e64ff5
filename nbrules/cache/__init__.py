"""The product cache: content digests, the code digest, the key, the store.

- :mod:`.digests`: xxh3-128 digests of bytes, files, streams and folder trees;
- :mod:`.statcache`: ``stat`` signature → digest (on this host, never in the store);
- :mod:`.tables`: table digests of Parquet/Arrow files (their rows, not their bytes),
  memoized by file digest; :mod:`.tablefiles` reads those files;
- :mod:`.code`: the normalized code digest of a notebook and the local modules it imports;
- :mod:`.key`: the canonical key document and miss reasons;
- :mod:`.manifest`: cache entries as JSON, read strictly;
- :mod:`.trees`: folder products walked without following links;
- :mod:`.transfer`: objects opened without following links, every restored byte verified;
- :mod:`.lease`: per-key leases, so concurrent builds never execute one key twice;
- :mod:`.store`: objects, manifests, atomic publish and restore;
- :mod:`.admin`: ``nbrules cache stats|verify|gc``.

Nothing here knows about Snakemake, jobs or engines.
"""

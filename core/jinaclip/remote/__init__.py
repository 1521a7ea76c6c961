"""The Jina Embeddings API backend: `client.RemoteEncoder`, the wire `schema`, token accounting.

Kept empty on purpose: `jinaclip serve` imports `jinaclip.remote.schema` without pulling in
the HTTP client.
"""

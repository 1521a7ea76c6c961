"""Native PyTorch jina-clip: config, towers, checkpoint I/O and the `LocalEncoder`.

Importing this package pulls in torch; `import jinaclip` alone does not.
"""

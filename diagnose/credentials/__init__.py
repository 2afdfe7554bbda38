"""Stored logins and identities, found the way each client finds them.

- ``lookup``: which key docker and containers-image look up, and near-miss keys (pure);
- ``helpers``: ``docker-credential-NAME get`` (runs a program, 10 s limit);
- ``resolve``: the login one client would use (reads auth files, runs helpers);
- ``identity``: one identity per pull, for ``run.compare``.

Nothing here prints or returns a secret in a message.
"""

"""Tooling around the library, not part of the reading path: index-pattern test videos (:mod:`.synthetic`),
live senders on 127.0.0.1 (:mod:`.sender`), the core benchmark (:mod:`.benchmark`) and the set-up demo
(:mod:`.demo`)."""

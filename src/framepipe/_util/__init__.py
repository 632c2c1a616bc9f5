"""Stage 0, used by every stage: argument checks (one module of them), the closed sets of option values,
constants, credential masking, optional-extra imports and the one fork mechanism."""

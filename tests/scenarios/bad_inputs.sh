#!/bin/bash
# backend-independent
# Every bad input of docs/bad-inputs.md, run again: one line, the documented exit status and
# message (tests/bad-inputs.sh --write regenerates the document after a deliberate change).
cd "$(dirname "$0")/../.." && exec tests/bad-inputs.sh --check docs/bad-inputs.md

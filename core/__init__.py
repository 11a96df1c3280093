"""carecoord kernel: tenancy, auth, patient records, audit."""

import os

# Piccolo finds its engine through this module; set before any table is used.
os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")

"""Ray stays on loopback in these tests: Ray reads this variable when it is imported
(``ray._private.ray_constants.ENABLE_RAY_CLUSTER``), in this process (the driver) and in
every Ray process started from it, so it is set before any test module imports Ray.
Without it Ray swaps 127.0.0.1 for the machine's routable address."""

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

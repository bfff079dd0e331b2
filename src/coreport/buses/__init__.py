"""Bus implementations: :class:`LocalBus` (in-process) and :class:`RedisBus` (Redis pub/sub).

Only the composition root picks one; everything else sees :class:`coreport.ports.Bus`.
"""

from coreport.buses.health import BusHealth
from coreport.buses.local import LocalBus
from coreport.buses.redis import RedisBus

__all__ = ["BusHealth", "LocalBus", "RedisBus"]

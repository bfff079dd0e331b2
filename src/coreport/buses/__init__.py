"""Bus implementations: :class:`LocalBus` (in-process) and :class:`RedisBus` (Redis pub/sub),
and the presence registries that go with them: :class:`LocalPresence` and
:class:`RedisPresence`.

Only the composition root picks one; everything else sees :class:`coreport.ports.Bus` and
:class:`coreport.ports.PresenceRegistry`.
"""

from coreport.buses.health import BusHealth
from coreport.buses.local import LocalBus
from coreport.buses.presence_local import LocalPresence
from coreport.buses.presence_redis import RedisPresence
from coreport.buses.redis import RedisBus

__all__ = ["BusHealth", "LocalBus", "LocalPresence", "RedisBus", "RedisPresence"]

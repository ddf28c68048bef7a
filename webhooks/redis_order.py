"""The order of a call's events at each receiver, shared by the nodes in Redis.

One key per endpoint and call, ``{prefix}webhooks:settled:{endpoint}:{call_id}``,
holding the highest ``seq`` settled there; raised by a script (never lowered,
whichever node settles first) and forgotten a week after its last change (a
call's events come within a day: :class:`~webhooks.retry.RetryPolicy` gives up
then). Nothing on a media path reads it: a delivery reads it before sending an
event that follows another.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .order import OrderUnavailableError

__all__ = ["RedisDeliveryOrder"]

KEEP_S = 7 * 86_400

# KEYS[1] the mark; ARGV[1] the seq settled; ARGV[2] seconds to keep it.
_RAISE = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > now then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisDeliveryOrder:
    """:class:`~webhooks.order.DeliveryOrder` in the Redis at ``redis``."""

    def __init__(self, redis: Redis, *, prefix: str = "kotha:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._raise = redis.register_script(_RAISE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "kotha:") -> RedisDeliveryOrder:
        return cls(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5), prefix=prefix)

    def _key(self, endpoint: str, call_id: str) -> str:
        return f"{self._prefix}webhooks:settled:{endpoint}:{call_id}"

    async def settled(self, endpoint: str, call_id: str) -> int:
        try:
            value = await self._redis.get(self._key(endpoint, call_id))
        except RedisError as error:
            raise OrderUnavailableError(f"Redis did not answer ({error})") from None
        return int(value) if value else 0

    async def settle(self, endpoint: str, call_id: str, seq: int) -> None:
        try:
            await self._raise(keys=[self._key(endpoint, call_id)], args=[seq, KEEP_S])
        except RedisError as error:
            raise OrderUnavailableError(f"Redis did not answer ({error})") from None

    async def close(self) -> None:
        await self._redis.aclose()

"""JSON rendering with ujson (pinned in requirements/base.txt) for the station search: its answer is ~200 KB of
plain strings and numbers (50 stations × 24 hourly prices), which the standard library encoder takes ~6 ms to
write. Anything ujson cannot encode as is goes through DRF's own encoder."""
from __future__ import annotations

import ujson
from rest_framework.renderers import JSONRenderer


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        try:
            return ujson.dumps(data, ensure_ascii=False, escape_forward_slashes=False).encode()
        except (TypeError, OverflowError):
            return super().render(data, accepted_media_type, renderer_context)

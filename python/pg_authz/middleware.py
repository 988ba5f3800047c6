"""``AuthzMiddleware``: every statement the ORM runs for a request acts for ``request.user``.

Place it after ``AuthenticationMiddleware``. It works for sync and async views, template
responses (rendered inside the middleware chain) and streaming responses (whose content is
produced after the middleware returns: the iterator is wrapped so that it acts for the same
user). The database's 42501 becomes ``PermissionDenied`` (a 403).
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from pg_authz import errors
from pg_authz.identity import for_request, load_user_as_nobody


def _stream_for(request, content):
    with for_request(request):
        yield from content


async def _astream_for(request, content):
    with for_request(request):
        async for chunk in content:
            yield chunk


class AuthzMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        load_user_as_nobody(request)
        with for_request(request):
            response = self.get_response(request)
        return self._finish(request, response)

    async def __acall__(self, request):
        load_user_as_nobody(request)
        with for_request(request):
            response = await self.get_response(request)
        return self._finish(request, response)

    def _finish(self, request, response):
        if getattr(response, "streaming", False):
            content = response.streaming_content
            if hasattr(content, "__aiter__"):
                response.streaming_content = _astream_for(request, content)
            else:
                response.streaming_content = _stream_for(request, content)
        return response

    def process_exception(self, request, exception):
        translated = errors.translate(exception)
        if translated is not None and translated is not exception:
            raise translated from exception
        return None

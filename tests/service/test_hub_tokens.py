"""HubTokens against a stand-in Hub API: who a token is, the access scope, one round trip per token.

The stand-in answers GET /hub/api/user as JupyterHub does (the token's owner and the token's
scopes; 403 for a token it does not know) and counts the requests, so the test shows the cache:
a student's second check costs no Hub round trip.
"""

import asyncio
import json

import pytest
from jupyterhub.services.auth import HubAuth
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from grader.errors import GraderError
from grader.service.http import HubTokens, NotAllowed

SCOPE = "access:services!service=grader-checks"
MODELS = {
    "ada-server-token": {"kind": "user", "name": "ada", "scopes": [SCOPE, "access:servers!server=ada/"]},
    "ben-no-scope": {"kind": "user", "name": "ben", "scopes": ["access:servers!server=ben/"]},
    "a-service-token": {"kind": "service", "name": "other-service", "scopes": [SCOPE]},
}


class UserHandler(web.RequestHandler):
    def get(self):
        self.application.settings["asked"].append(self.request.headers.get("Authorization"))
        token = self.request.headers.get("Authorization", "").removeprefix("token ")
        if token not in MODELS:
            self.set_status(403)
            self.finish(json.dumps({"status": 403, "message": "Forbidden"}))
            return
        self.finish(json.dumps(MODELS[token]))


def with_hub(test):
    async def run():
        asked = []
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(web.Application([(r"/hub/api/user", UserHandler)], asked=asked))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        auth = HubAuth(api_url=f"http://127.0.0.1:{port}/hub/api", api_token="the-service's", access_scopes={SCOPE})
        try:
            await test(HubTokens(auth), asked)
        finally:
            server.stop()
    asyncio.run(run())


def test_a_students_token_is_theirs_and_asked_of_the_hub_once():
    async def test(tokens, asked):
        assert await tokens.student_of("ada-server-token") == "ada"
        assert await tokens.student_of("ada-server-token") == "ada"
        assert len(asked) == 1 and asked[0] == "token ada-server-token"
    with_hub(test)


@pytest.mark.parametrize("token, status", [("unknown", 401), ("a-service-token", 401), ("ben-no-scope", 403)])
def test_unknown_service_and_scopeless_tokens_are_refused(token, status):
    async def test(tokens, asked):
        with pytest.raises(NotAllowed) as refused:
            await tokens.student_of(token)
        assert refused.value.status == status
    with_hub(test)


def test_a_hub_service_without_an_access_scope_refuses_to_start():
    with pytest.raises(GraderError, match="access scope is unknown"):
        HubTokens(HubAuth(api_url="http://127.0.0.1:1/hub/api", api_token="x", access_scopes=set()))

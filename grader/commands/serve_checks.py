"""python -m grader serve-checks: the check-my-answer service of a course (docs/checks.md).

Reads the course's nbgrader configuration (its gradebook database: the checks, extensions and
no-hub tokens are kept there, beside nbgrader's tables) and its bank (COURSE/questions.yaml, or
--bank). Nothing is kept in the process: a restart, or a crash, loses nothing.

--hub (the default when JUPYTERHUB_API_TOKEN is set, i.e. when JupyterHub runs it as a service):
students are who their Hub token says, the routes are under JUPYTERHUB_SERVICE_PREFIX, and the
address defaults to JUPYTERHUB_SERVICE_URL's. --no-hub: students send the course token
`grader distribute --checks-url URL` wrote beside their notebook, and the routes are at `/`.
"""

import os

DEFAULT_PORT = 8765


def add_arguments(parser):
    parser.add_argument("--ip", default=None,
                        help="address to listen on; default: JUPYTERHUB_SERVICE_URL's host with --hub, else 127.0.0.1")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port; 0 picks a free one (printed); default: JUPYTERHUB_SERVICE_URL's with --hub, "
                             f"else {DEFAULT_PORT}")
    hub = parser.add_mutually_exclusive_group()
    hub.add_argument("--hub", dest="hub", action="store_true", default=None,
                     help="students authenticate with their JupyterHub token (default when JUPYTERHUB_API_TOKEN is set)")
    hub.add_argument("--no-hub", dest="hub", action="store_false",
                     help="students authenticate with the course token `distribute --checks-url` gave them")


def listen_address(ip, port, hub, environment):
    """(ip, port): the options, else JUPYTERHUB_SERVICE_URL's (a hub-managed service is told where
    the proxy expects it), else 127.0.0.1 and DEFAULT_PORT."""
    from urllib.parse import urlsplit

    from grader.errors import GraderError

    service_url = urlsplit(environment.get("JUPYTERHUB_SERVICE_URL", "")) if hub else None
    if port is None:
        try:
            port = service_url.port if service_url and service_url.port else DEFAULT_PORT
        except ValueError:
            raise GraderError(f"JUPYTERHUB_SERVICE_URL={environment['JUPYTERHUB_SERVICE_URL']!r}: no usable port; "
                              f"give --port") from None
    if ip is None:
        ip = service_url.hostname if service_url and service_url.hostname else "127.0.0.1"
    if not 0 <= port <= 65535:
        raise GraderError(f"--port {port}: not a port (0 to 65535)")
    return ip, port


def run(args):
    import asyncio
    import logging
    import signal

    from sqlalchemy.engine import make_url

    from grader.attempts.store import Store
    from grader.bank import load_bank
    from grader.course import course_config
    from grader.service.check import Checker
    from grader.service.http import CourseTokens, hub_tokens_from_environment, serve

    # tornado's access log (method, path, status, client; never a token) and any error, on stderr
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.INFO)
    hub = bool(os.environ.get("JUPYTERHUB_API_TOKEN")) if args.hub is None else args.hub
    ip, port = listen_address(args.ip, args.port, hub, os.environ)
    bank = load_bank(args.bank)
    config = course_config(args.course)
    store = Store.of_course(config)
    checker = Checker(bank, store)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/") if hub else "/"
    database = make_url(store.db_url).render_as_string(hide_password=True)
    hub_tokens = hub_tokens_from_environment() if hub else None    # refused before listening when the env is wrong

    def authentication_for(executor):
        return hub_tokens if hub_tokens is not None else CourseTokens(store, executor)

    def on_listening(listening, service):
        print(f"grader serve-checks: listening on {listening.url} ({service.authentication.description}); "
              f"course {args.course}, database {database}", flush=True)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        await serve(checker, authentication_for, ip, port, prefix, on_listening, stop)

    asyncio.run(main())
    print("grader serve-checks: stopped", flush=True)
    return 0

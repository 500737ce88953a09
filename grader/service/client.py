"""The notebook's side of the check-my-answer service: the Check button under a test cell (#21).

A student's kernel runs this file, not the grader: it has no `grader` package. The notebook's locked
setup cell (grader.render, `_check_button`) finds the service (GRADER_CHECKS_URL with the token
GRADER_CHECKS_TOKEN or JUPYTERHUB_API_TOKEN, else `.grader-checks.json` in the kernel's folder, the
notebook's), fetches this client once per kernel from the service (`GET B/client.py`, no token:
`client_source()` is what the service serves there) and calls `show_button`. Only standard library
modules and ipywidgets are imported at the top.

Why the service serves the client instead of the notebook embedding it: an answer must be encoded
exactly as grading's hidden tests report it (grader/grading/kernel/in_kernel.py, `encode` and
`call_cases`), and the service decodes with that same file. Served with it (client_source appends
in_kernel.py's text, run in a namespace of its own as grading's prelude runs it), the encoder stays
single-sourced and always matches the decoder of the service that reads it, even for a notebook
released months before the service was last updated. Embedding it instead would put ~330 lines
of codec in every notebook's setup cell (render cannot import the grading room: it is below it in
the layers), frozen at release time.

What a click does (`check_once`; running the cell never sends a check, it only shows the button,
asking the service how many checks are left): read the answer then (a NameError: "define q1 first"),
encode it (a function answer: called on the cases the service gives for this student and problem,
into the {"$calls": ...} form of the kernel's report), POST it to B/api/check and say the reply's
verdict and the checks left, or why nothing was checked, in plain words.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 15                # seconds for a check (grading a function answer's cases included)
STATUS_TIMEOUT = 5          # seconds for the checks left, asked when the button is shown
CODEC = None                # in_kernel.py's names: bound by client_source()'s last line in a kernel
BUTTONS = {}                # problem id -> (button, output) shown last: re-running a cell replaces them


# --- the service -------------------------------------------------------------------------------------

class Unreachable(Exception):
    """The service did not answer (network down, refused, timed out, not JSON)."""


class Service:
    """The course's check service at `url` (B) for the student whose token is `token`."""

    def __init__(self, url, token, opener=None):
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.opener = opener or urllib.request.urlopen

    def call(self, method, path, body=None, timeout=TIMEOUT):
        """(HTTP status, JSON body, Retry-After seconds or None); Unreachable when there is no reply."""
        data = None if body is None else json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with self.opener(request, timeout=timeout) as reply:
                status, headers, raw = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as refusal:
            status, headers, raw = refusal.code, refusal.headers, refusal.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(_reason_of(exc)) from None
        try:
            found = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise Unreachable(f"HTTP {status} with a reply that is not JSON") from None
        if not isinstance(found, dict):
            raise Unreachable(f"HTTP {status} with a reply that is not a JSON object")
        retry = headers.get("Retry-After") if headers is not None else None
        return status, found, float(retry) if retry and retry.strip().isdigit() else None

    def path(self, *parts):
        return "/".join(urllib.parse.quote(part, safe="") for part in parts)


def _reason_of(exc):
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(exc).__name__


# --- one check ---------------------------------------------------------------------------------------

class NotChecked(Exception):
    """Why nothing was sent, or nothing counted: the text the student reads."""


def codec():
    """in_kernel.py's names (encode, call_cases, decode): bound in a kernel, imported in the grader."""
    global CODEC
    if CODEC is None:
        from grader.grading.kernel import in_kernel
        CODEC = vars(in_kernel)
    return CODEC


def read(read_answer):
    """The answer as the student's namespace holds it now; NotChecked when it is not defined."""
    try:
        return read_answer()
    except NameError as exc:
        names = getattr(read_answer, "__code__", None)
        name = getattr(exc, "name", None) or (names.co_names[0] if names and names.co_names else "the answer")
        raise NotChecked(f"define {name} first: run your answer cell") from None


def answer_data(service, assignment, problem_id, answer, practice=None):
    """The answer as plain data, exactly as the hidden test reports it (in_kernel.report): a function
    is called on the cases the service gives for this student (inputs are not secret)."""
    names = codec()
    if callable(answer) and not isinstance(answer, type):
        path = "api/cases/" + service.path(assignment, problem_id) + (f"?practice={practice}" if practice else "")
        status, body, retry = service.call("GET", path)
        if status != 200:
            raise NotChecked(refusal_words(status, body, retry))
        if body.get("cases") is not None:
            return {"$calls": names["call_cases"](answer, names["decode"](body["cases"]))}
    return names["encode"](answer)


def check_once(service, assignment, problem_id, read_answer, practice=None):
    """One check: read, encode, send; (the words to print, the reply's body or None)."""
    try:
        answer = read(read_answer)
        request = {"assignment": assignment, "problem": problem_id,
                   "answer": answer_data(service, assignment, problem_id, answer, practice)}
        if practice:
            request["practice"] = practice
        status, body, retry = service.call("POST", "api/check", request)
    except NotChecked as why:
        return str(why), None
    except Unreachable as why:
        return (f"Not checked: the check service cannot be reached ({why}). Try again later; this answer is "
                f"checked when the assignment is graded in any case."), None
    if status != 200:
        return refusal_words(status, body, retry), None
    return verdict_words(body), body


def verdict_words(body):
    """The reply of a check that was made: its verdict and what is left, in plain words."""
    words = [str(body.get("message") or body.get("verdict") or "Checked.")]
    if body.get("practice"):
        words.append("(A practice check.)")
    elif isinstance(body.get("checks_left"), int):
        left = body["checks_left"]
        words.append("No checks of this answer left." if left == 0
                     else f"{left} check{'' if left == 1 else 's'} of this answer left.")
    return " ".join(words)


def refusal_words(status, body, retry_after=None):
    """Why a request was refused (nothing was counted), in plain words."""
    error = str(body.get("error") or f"HTTP {status}")
    if status == 401:
        return (f"Not checked: the check service did not accept this notebook's token ({error}). Ask your "
                f"instructor; this answer is checked when the assignment is graded in any case.")
    if status == 429:
        wait = body.get("retry_after", retry_after)
        when = "" if "try again" in error or "opens" in error or not isinstance(wait, (int, float)) \
            else f"; try again in {max(1, round(wait))} s"
        return f"Not checked: {error}{when}. Nothing was counted."
    if status >= 500:
        return f"Not checked: the check service failed ({error}). Try again later; nothing was counted."
    return f"Not checked: {error}."


# --- the button --------------------------------------------------------------------------------------

def label(left, practice):
    if practice:
        return "Check my practice answer"
    if left is None:
        return "Check my answer"
    return "Check my answer (none left)" if left == 0 else f"Check my answer ({left} left)"


def status_of(service, assignment, problem_id):
    """(checks left or None, practice) from the service; (None, False) when it cannot say now."""
    try:
        status, body, _ = service.call("GET", "api/status/" + service.path(assignment), timeout=STATUS_TIMEOUT)
    except Unreachable:
        return None, False
    found = (body.get("problems") or {}).get(problem_id) if status == 200 else None
    if not isinstance(found, dict):
        return None, False
    return found.get("left"), bool(body.get("practice"))


def practice_words(body):
    """A practice round as the student reads it: the problem on fresh numbers and what to do."""
    return (f"Practice round {body.get('round')} (counts for nothing): the problem on fresh numbers.\n\n"
            f"{body.get('prompt', '')}\n\nIts inputs, to run in a cell of your own:\n\n{body.get('inputs', '')}\n\n"
            f"Assign your answer to these numbers as before, then click Check.")


def fetch_practice(service, assignment, problem_id, number):
    """(words to show, round shown or None): practice round `number` of the problem, from the service."""
    try:
        status, body, retry = service.call(
            "GET", "api/practice/" + service.path(assignment, problem_id) + f"?round={number}")
    except Unreachable as why:
        return f"No practice: the check service cannot be reached ({why}).", None
    if status != 200:
        return refusal_words(status, body, retry), None
    return practice_words(body), number


def show_button(url, token, assignment, problem_id, read_answer, opener=None):
    """Display "Check my answer (N left)" with an Output below it; a click checks the answer then.
    After the deadline (the service says practice), the first click shows practice round 1 (fresh
    numbers), later clicks check answers to it, and "New numbers" moves to the next round."""
    import ipywidgets
    from IPython.display import display

    service = Service(url, token, opener)
    left, practice = status_of(service, assignment, problem_id)
    shown = {"round": None}
    button = ipywidgets.Button(description="Practice on fresh numbers" if practice else label(left, practice), tooltip=(
        "Send this answer to be checked now (each click counts as one check)"),
        layout=ipywidgets.Layout(width="auto"))
    fresh = ipywidgets.Button(description="New numbers", layout=ipywidgets.Layout(
        width="auto", display=None if practice else "none"))
    output = ipywidgets.Output()

    def say(words):
        output.outputs = ()
        output.append_stdout(words + "\n")

    def show_round(number):
        words, number_shown = fetch_practice(service, assignment, problem_id, number)
        if number_shown is not None:
            shown["round"] = number_shown
            button.description = label(None, True)
        say(words)

    def on_click(_clicked):
        if practice and shown["round"] is None:
            show_round(1)
            return
        button.disabled = True
        say("Checking…")
        try:
            words, body = check_once(service, assignment, problem_id, read_answer, shown["round"])
        except Exception as exc:  # noqa: BLE001 (a student's kernel: say it, never a traceback)
            words, body = f"Not checked: {type(exc).__name__}: {exc}", None
        finally:
            button.disabled = False
        if body is not None:
            button.description = label(body.get("checks_left"), bool(body.get("practice")))
        say(words)

    button.on_click(on_click)
    fresh.on_click(lambda _clicked: show_round((shown["round"] or 0) + 1))
    BUTTONS[problem_id] = (button, output)
    display(ipywidgets.VBox([ipywidgets.HBox([button, fresh]), output]))


# --- what the service serves (in the grader, never in a kernel) --------------------------------------

def client_source():
    """The text the service serves at GET B/client.py: this file, then in_kernel.py's text run in a
    namespace of its own, bound to CODEC (the kernel has no grader package to import it from)."""
    from pathlib import Path

    from grader.grading.kernel import in_kernel

    own = Path(__file__).read_text(encoding="utf-8")
    codec_text = Path(in_kernel.__file__).read_text(encoding="utf-8")
    return (own + "\n\n# --- in_kernel.py, the encoder grading's hidden tests use ----------------------------\n"
            "def _codec_of(source):\n"
            "    namespace = {'__name__': 'grader_in_kernel'}\n"
            "    exec(compile(source, 'grader_in_kernel.py', 'exec'), namespace)\n"
            "    return namespace\n\n\n"
            f"CODEC = _codec_of({codec_text!r})\n")

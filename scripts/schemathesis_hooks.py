"""Schemathesis hooks for scripts/e2e-local.sh.

`cargo lambda watch`, the local stand-in for API Gateway, answers 500 itself
(before invoking any function) when a JSON request body is not UTF-8, or a
header value is not text. API Gateway passes such a body to the function
base64-encoded, and such a header as it came; the contract tests
`create::non_utf8_bodies_are_400` and
`index::idempotency_keys_must_be_printable_ascii` cover the function's
answers. Here they are left out, so that a limitation of the local emulator
is not reported as the service's. The coverage phase does not consult the
filters, so `before_call` replaces such a header value, just before it is
sent, with one that is text and as invalid (too long for any header the
contract bounds): the request stays one the service must refuse.
"""

import schemathesis


@schemathesis.hook
def filter_body(ctx, body):
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def filter_headers(ctx, headers):
    for value in (headers or {}).values():
        if isinstance(value, str) and not _is_text(value):
            return False
    return True


def _is_text(value):
    return all(" " <= c <= "~" or c == "\t" for c in value)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    for name, value in list((case.headers or {}).items()):
        if isinstance(value, str) and not _is_text(value):
            case.headers[name] = "x" * 256

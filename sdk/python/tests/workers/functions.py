"""Python functions the tests and the TypeScript worker call by name."""

import time


def py_double(ctx, x):
    return x * 2


def py_echo(ctx, v):
    return v


class PaymentDeclined(Exception):
    pass


def py_fail(ctx, message):
    raise ValueError(message)


def now_ms(ctx):
    return int(time.time() * 1000)


def ran(ctx):
    return "ran"


def register_all(resonate, ts_group):
    resonate.register(py_double, name="pyDouble")
    resonate.register(py_echo, name="pyEcho")
    resonate.register(py_fail, name="pyFail")

    @resonate.register(name="pyCallsTs")
    def py_calls_ts(ctx, name, *args):
        return (yield ctx.rpc(name, *args, target=ts_group))

    @resonate.register(name="pyFansOutToTs")
    def py_fans_out_to_ts(ctx, xs):
        futures = []
        for x in xs:
            futures.append((yield ctx.rpc("tsDouble", x, target=ts_group).spawn()))
        return (yield futures)

    @resonate.register(name="pySleeps")
    def py_sleeps(ctx, ms):
        before = yield ctx.run(now_ms)
        yield ctx.sleep(ms)
        after = yield ctx.run(now_ms)
        return after - before

    @resonate.register(name="pyAwaitsLatent")
    def py_awaits_latent(ctx):
        approval = ctx.promise()
        value = yield approval
        return {"promise": approval.id, "got": value}

    @resonate.register(name="pyTimeoutAt")
    def py_timeout_at(ctx):
        step = yield ctx.run(ran)
        doubled = yield ctx.rpc("tsDouble", 8, target=ts_group)
        return {"timeoutAt": ctx.timeout_at, "step": step, "rpc": doubled}

    @resonate.register(name="pyEchoViaGo")
    def py_echo_via_go(ctx, v, go_target):
        """Python decodes v, sends it to Go's echo (which answers its arguments), and returns what came back."""
        back = yield ctx.rpc("echo", v, target=go_target)
        return back[0]

    @resonate.register(name="pyCallsGo")
    def py_calls_go(ctx, name, go_target, *args):
        """A Go function's result, or its error raised on unchanged."""
        return (yield ctx.rpc(name, *args, target=go_target))

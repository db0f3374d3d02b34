"""The replay core as a state machine: events in, commands out, no I/O."""

import json

from resonate_mesh import PromiseRecord
from resonate_mesh import codec
from resonate_mesh.core import (Attempt, CreatePromise, Finished, Fulfill, Result, RunLeaf, Suspend)
from resonate_mesh.retry import Retry

NOW = 1_000_000
ROOT = PromiseRecord(id="root", state="pending", param=b"", tags={"resonate:origin": "root", "resonate:branch": "root",
                                                                  "resonate:target": "poll://any@g"},
                     timeout_at=NOW + 60_000)


def leaf(ctx, x):
    return x + 1


def attempt(fn, preload=(), args=()):
    return Attempt(ROOT, list(preload), fn, list(args), "flow", 1, Retry.never(), "poll://any@g",
                   lambda f: None, lambda: NOW)


def invocation(func, args):
    return codec.encode({"func": func, "args": args, "version": 1}, "")


def settled(pid, value, tags, func="leaf", args=(1,)):
    return PromiseRecord(id=pid, state="resolved", param=invocation(func, list(args)), value=codec.encode(value),
                         tags=tags, timeout_at=NOW + 60_000)


def flow(ctx):
    a = yield ctx.run(leaf, 1)
    return a * 10


def test_a_new_local_step_runs_here_and_is_recorded_with_one_fenced_create_of_a_settled_promise():
    a = attempt(flow)
    run = a.start()
    assert isinstance(run, RunLeaf) and run.id == "root.0"
    record = a.step(Result(True, run.fn(run.ctx, *run.args)))
    assert isinstance(record, CreatePromise)
    assert record.id == "root.0"
    assert record.settled == ("resolved", b"2")
    assert record.tags == {"resonate:origin": "root", "resonate:parent": "root", "resonate:scope": "local",
                           "resonate:branch": "root"}
    assert json.loads(record.param) == {"func": "leaf", "args": [1], "version": 1}
    stored = PromiseRecord(id="root.0", state="resolved", param=record.param, value=b"2", tags=record.tags)
    fulfill = a.step(Result(True, (stored, [])))
    assert fulfill == Fulfill("resolved", b"20")


def test_a_recorded_step_is_not_run_again_on_replay():
    a = attempt(flow, [settled("root.0", 2, {"resonate:scope": "local"})])
    assert a.start() == Fulfill("resolved", b"20")


def test_a_replayed_call_that_differs_from_the_record_is_a_non_deterministic_error_naming_the_id():
    a = attempt(flow, [settled("root.0", 2, {"resonate:scope": "local"}, func="somethingElse")])
    fulfill = a.start()
    assert isinstance(fulfill, Fulfill) and fulfill.state == "rejected"
    error = json.loads(fulfill.value)
    assert error["name"] == "ResonateError"
    assert 'non-deterministic replay at promise "root.0"' in error["message"]


def remote_flow(ctx):
    try:
        v = yield ctx.rpc("other", 5, target="ts")
    except Exception:  # must never see a suspension
        return "swallowed"
    return v


def test_awaiting_a_pending_remote_child_suspends_without_resuming_the_function():
    a = attempt(remote_flow)
    create = a.start()
    assert isinstance(create, CreatePromise) and create.id == "root.0" and create.settled is None
    assert create.tags["resonate:target"] == "poll://any@ts"
    assert create.tags["resonate:branch"] == "root.0"
    pending = PromiseRecord(id="root.0", state="pending", param=create.param, tags=create.tags)
    suspend = a.step(Result(True, (pending, [])))
    assert suspend == Suspend(["root.0"])
    assert a.step(Result(True, (False, []))) == Finished("suspended")


def test_a_redirect_continues_the_same_attempt_with_the_preloaded_value():
    a = attempt(remote_flow)
    create = a.start()
    pending = PromiseRecord(id="root.0", state="pending", param=create.param, tags=create.tags)
    a.step(Result(True, (pending, [])))
    done = PromiseRecord(id="root.0", state="resolved", param=create.param, value=b"10", tags=create.tags)
    assert a.step(Result(True, (True, [done]))) == Fulfill("resolved", b"10")


def test_sleep_is_a_timer_promise_targeted_at_the_workers_group():
    def sleeper(ctx):
        yield ctx.sleep(250)

    create = attempt(sleeper).start()
    assert create.timeout_at == NOW + 250
    assert create.tags["resonate:timer"] == "true"
    assert create.tags["resonate:target"] == "poll://any@g"
    assert json.loads(create.param) == {"func": "resonate:sleep", "args": [250]}


def fan_out(ctx):
    futures = []
    for x in (1, 2):
        futures.append((yield ctx.rpc("double", x, target="ts").spawn()))
    return sum((yield futures))


def test_spawned_children_are_created_first_and_the_task_suspends_on_every_pending_one():
    a = attempt(fan_out)
    first = a.start()
    assert isinstance(first, CreatePromise) and first.id == "root.0"
    second = a.step(Result(True, (PromiseRecord(id="root.0", state="pending", param=first.param, tags=first.tags), [])))
    assert isinstance(second, CreatePromise) and second.id == "root.1"
    suspend = a.step(Result(True, (PromiseRecord(id="root.1", state="pending", param=second.param, tags=second.tags), [])))
    assert suspend == Suspend(["root.0", "root.1"])


def test_a_list_of_futures_gives_their_values_in_order_once_all_are_settled():
    tags = {"resonate:target": "poll://any@ts", "resonate:scope": "global"}
    a = attempt(fan_out, [settled("root.0", 2, tags, func="double", args=(1,)),
                          settled("root.1", 4, tags, func="double", args=(2,))])
    assert a.start() == Fulfill("resolved", b"6")

import gc

from interbank.interactive.gctune import YOUNG, tune_gc


def test_a_steps_worth_of_short_lived_event_dicts_sets_off_no_collection():
    before = gc.get_threshold()
    collections = []
    callback = lambda phase, info: collections.append(info["generation"]) if phase == "start" else None  # noqa: E731
    try:
        tune_gc()
        assert gc.get_threshold()[0] == YOUNG
        gc.collect()
        gc.callbacks.append(callback)
        events = [{"seq": k, "step": 1, "type": "transaction", "data": {"bank": f"bank_{k}"}} for k in range(YOUNG // 3)]
        del events
        assert collections == []
    finally:
        gc.callbacks.remove(callback) if callback in gc.callbacks else None
        gc.unfreeze()
        gc.set_threshold(*before)

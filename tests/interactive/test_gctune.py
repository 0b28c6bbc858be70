import gc

from interbank.interactive.gctune import YOUNG, tune_gc


def test_a_steps_worth_of_short_lived_event_dicts_sets_off_no_collection():
    before = gc.get_threshold()
    started = []

    def seen(phase, info):
        if phase == "start":
            started.append(info["generation"])

    try:
        tune_gc()
        assert gc.get_threshold()[0] == YOUNG
        gc.collect()
        gc.callbacks.append(seen)
        events = [{"seq": k, "step": 1, "type": "transaction", "data": {"bank": f"bank_{k}"}} for k in range(YOUNG // 3)]
        del events
        assert started == []  # with the default threshold (700) this set off ~100 collections
    finally:
        if seen in gc.callbacks:
            gc.callbacks.remove(seen)
        gc.unfreeze()
        gc.set_threshold(*before)

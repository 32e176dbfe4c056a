-- academic folds a chunk at a time (load → fold → flush): it reads every enrollment's state for the chunk in
-- one query and no longer asks per event.
drop function if exists academic_event_state(text, text, text, text);

-- What each run version adds to a webhook payload, in parts (runs.Size), so
-- that a delivery is planned from these small columns instead of the runs'
-- documents. Versions written before this migration have 0 here and are
-- measured from their documents when planned.
ALTER TABLE runs ADD COLUMN size_base UInt32;
ALTER TABLE runs ADD COLUMN size_inputs UInt32;
ALTER TABLE runs ADD COLUMN size_inputs_inline Int32;
ALTER TABLE runs ADD COLUMN size_outputs UInt32;
ALTER TABLE runs ADD COLUMN size_outputs_inline Int32;

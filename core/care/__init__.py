"""Care records: appointments, care team, care plans, tasks and worklist, timeline."""

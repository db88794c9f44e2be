"""Usage per answer: recording, limits, reports, prices and the export."""

"""stance-pipeline: sentence-level speaker, stance and role labelling of news articles."""

-- The scheduler reads queued jobs per resource class in priority order.
CREATE INDEX so_jobs_resource_queue ON so_jobs (status, resource, priority DESC, id);

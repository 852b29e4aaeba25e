"""Training: a train section resolved against the data (recipe), batches, schedules, the loop, the LR range test,
the step benchmark, memory and parallel workers."""

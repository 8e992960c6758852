"""intro2ai: the course's numpy deep-learning package (cs231n assignment-2 API), HW5 reference."""

;; A memory with no data: kept and reused with no image (api_test.cpp MemoryReuse).
(module (memory (export "memory") 3 100))

;; A memory of 20 pages (1.25 MiB: past the whole-copy reset's limit) with data at 1024
;; and near the end, for the memory reuse tests (api_test.cpp MemoryReuse).
(module
  (memory (export "memory") 20 100)
  (data (i32.const 1024) "the initial image")
  (data (i32.const 1310000) "near the end"))

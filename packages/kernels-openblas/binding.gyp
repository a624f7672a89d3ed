{
  "targets": [
    {
      "target_name": "openblas_addon",
      "sources": ["native/openblas_addon.c"],
      "cflags": ["-O2", "-std=c11", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}

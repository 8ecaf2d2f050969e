{
  "variables": {
    # 1 = build with AddressSanitizer (scripts/test-asan.sh passes -Dfb_asan=1).
    "fb_asan%": 0
  },
  "targets": [
    {
      "target_name": "framebench_shm",
      "sources": ["src/shm.cc", "src/memfd.cc", "src/serve.cc", "src/checksum.c", "src/waiter.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      # checksum.c: vectorised (AVX2 clone where the CPU has it, see target_clones in the file)
      "cflags_c": ["-std=gnu11", "-O3", "-Wall", "-Wextra"],
      "libraries": ["-lrt", "-lpthread"],
      "conditions": [
        ["fb_asan==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"],
          "cflags_c": ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address"]
        }]
      ]
    }
  ]
}

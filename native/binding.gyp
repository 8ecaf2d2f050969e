{
  "variables": {
    # 1 = build with AddressSanitizer (scripts/test-asan.sh passes -Dfb_asan=1).
    "fb_asan%": 0
  },
  "targets": [
    {
      "target_name": "framebench_shm",
      "sources": ["src/shm.cc", "src/memfd.cc", "src/serve.cc", "src/checksum.c", "src/waiter.cc", "src/poller.cc"],
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
    },
    # The native ring peers (native/c, docs/ring-c.md): plain C11, no Node dependency.
    {
      "target_name": "fb-ring-consumer",
      "type": "executable",
      "sources": ["c/fb-ring-consumer.c", "c/fbring.c", "c/fbring_serve.c", "c/fbring_producer.c", "c/frames.c", "c/peer.c", "src/checksum.c"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra"],
      "libraries": ["-lpthread", "-lm"],
      "conditions": [
        ["fb_asan==1", {
          "cflags_c": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    },
    {
      "target_name": "fb-ring-producer",
      "type": "executable",
      "sources": ["c/fb-ring-producer.c", "c/fbring.c", "c/fbring_serve.c", "c/fbring_producer.c", "c/frames.c", "c/peer.c", "src/checksum.c"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra"],
      "libraries": ["-lpthread", "-lm"],
      "conditions": [
        ["fb_asan==1", {
          "cflags_c": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}

/* libmypaint reference for `atelier bench brush`: the same dab workload on
 * libmypaint's fixed tiled surface, single-threaded. Built and run by
 * scripts/bench-brush-vs-mypaint.sh; prints one JSON line per pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <libmypaint/mypaint-fixed-tiled-surface.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* xorshift, so both programs can use the same kind of positions. */
static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (rng >> 11) * (1.0 / 9007199254740992.0);
}

static void run(const char *pattern, int size, float radius, long dabs, int batch) {
    MyPaintFixedTiledSurface *s = mypaint_fixed_tiled_surface_new(size, size);
    MyPaintSurface *surface = (MyPaintSurface *)mypaint_fixed_tiled_surface_interface(s);
    const float step = 0.5f * radius, margin = radius + 2;
    float x = margin, y = margin, dir = 1;
    double t0 = now();
    mypaint_surface_begin_atomic(surface);
    for (long i = 0; i < dabs; i++) {
        if (pattern[0] == 's') {
            x += dir * step;
            if (x > size - margin || x < margin) { dir = -dir; x += dir * step; y += 2 * radius; }
            if (y > size - margin) y = margin;
        } else {
            x = margin + rnd() * (size - 2 * margin);
            y = margin + rnd() * (size - 2 * margin);
        }
        mypaint_surface_draw_dab(surface, x, y, radius, 0.8f, 0.2f, 0.1f, 0.5f, 0.8f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f);
        if (batch > 0 && (i + 1) % batch == 0) {
            MyPaintRectangle roi;
            mypaint_surface_end_atomic(surface, &roi);
            mypaint_surface_begin_atomic(surface);
        }
    }
    MyPaintRectangle roi;
    mypaint_surface_end_atomic(surface, &roi);
    double secs = now() - t0;
    printf("{\"engine\":\"libmypaint\",\"pattern\":\"%s\",\"radius\":%.1f,\"dabs\":%ld,\"batch\":%d,\"seconds\":%.4f,\"dabs_per_second\":%.0f}\n",
           pattern, radius, dabs, batch, secs, dabs / secs);
    mypaint_surface_unref(surface);
}

int main(int argc, char **argv) {
    long dabs = argc > 1 ? atol(argv[1]) : 200000;
    float radius = argc > 2 ? atof(argv[2]) : 16.0f;
    int batch = argc > 3 ? atoi(argv[3]) : 64;
    run("stroke", 4096, radius, dabs, batch);
    run("random", 4096, radius, dabs, batch);
    return 0;
}

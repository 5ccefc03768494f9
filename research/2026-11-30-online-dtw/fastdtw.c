/* Research helper: the DTW of ml/online/dtw.py (Euclidean frame cost, slope-corrected
   Sakoe-Chiba band as a fraction, divided by n + m) for many pairs of sequences stored
   back to back. Built and loaded by fastdtw.py; the product keeps ml/online/dtw.py. */
#include <math.h>
#include <stdlib.h>

void dtw_pairs(const float *data, const long *off, const long *len, int c, const long *pa, const long *pb, long npairs,
               double window, int use_band, double *out) {
    long maxn = 0;
    for (long p = 0; p < npairs; p++) {
        if (len[pb[p]] > maxn) maxn = len[pb[p]];
    }
    double *prev = malloc(sizeof(double) * (maxn + 1)), *cur = malloc(sizeof(double) * (maxn + 1));
    for (long p = 0; p < npairs; p++) {
        const float *A = data + off[pa[p]] * c, *B = data + off[pb[p]] * c;
        long n = len[pa[p]], m = len[pb[p]];
        double dn = n > 1 ? (double)(n - 1) : 1.0, dm = m > 1 ? (double)(m - 1) : 1.0;
        prev[0] = 0.0;
        for (long j = 1; j <= m; j++) prev[j] = INFINITY;
        for (long i = 1; i <= n; i++) {
            cur[0] = INFINITY;
            const float *a = A + (i - 1) * c;
            double fi = (double)(i - 1) / dn;
            for (long j = 1; j <= m; j++) {
                if (use_band && fabs(fi - (double)(j - 1) / dm) > window) { cur[j] = INFINITY; continue; }
                const float *b = B + (j - 1) * c;
                double s = 0.0;
                for (int k = 0; k < c; k++) { double d = (double)a[k] - (double)b[k]; s += d * d; }
                double best = prev[j - 1];
                if (prev[j] < best) best = prev[j];
                if (cur[j - 1] < best) best = cur[j - 1];
                cur[j] = sqrt(s) + best;
            }
            double *t = prev; prev = cur; cur = t;
        }
        out[p] = prev[m] / (double)(n + m);
    }
    free(prev); free(cur);
}

/* The same DTW with its best path: out_i / out_j (npairs, maxlen) get the frame pairs from the
   end back to (0, 0), out_len their count; ties go as in dtw_pairs (diagonal, then up, then left). */
void dtw_paths(const float *data, const long *off, const long *len, int c, const long *pa, const long *pb, long npairs,
               double window, int use_band, long maxlen, long *out_i, long *out_j, long *out_len, double *out) {
    long maxn = 0, maxm = 0;
    for (long p = 0; p < npairs; p++) {
        if (len[pa[p]] > maxn) maxn = len[pa[p]];
        if (len[pb[p]] > maxm) maxm = len[pb[p]];
    }
    double *D = malloc(sizeof(double) * (maxn + 1) * (maxm + 1));
    for (long p = 0; p < npairs; p++) {
        const float *A = data + off[pa[p]] * c, *B = data + off[pb[p]] * c;
        long n = len[pa[p]], m = len[pb[p]], W = m + 1;
        double dn = n > 1 ? (double)(n - 1) : 1.0, dm = m > 1 ? (double)(m - 1) : 1.0;
        D[0] = 0.0;
        for (long j = 1; j <= m; j++) D[j] = INFINITY;
        for (long i = 1; i <= n; i++) {
            D[i * W] = INFINITY;
            const float *a = A + (i - 1) * c;
            double fi = (double)(i - 1) / dn;
            for (long j = 1; j <= m; j++) {
                if (use_band && fabs(fi - (double)(j - 1) / dm) > window) { D[i * W + j] = INFINITY; continue; }
                const float *b = B + (j - 1) * c;
                double s = 0.0;
                for (int k = 0; k < c; k++) { double d = (double)a[k] - (double)b[k]; s += d * d; }
                double best = D[(i - 1) * W + j - 1];
                if (D[(i - 1) * W + j] < best) best = D[(i - 1) * W + j];
                if (D[i * W + j - 1] < best) best = D[i * W + j - 1];
                D[i * W + j] = sqrt(s) + best;
            }
        }
        out[p] = D[n * W + m] / (double)(n + m);
        long i = n, j = m, k = 0;
        while (1) {
            out_i[p * maxlen + k] = i - 1; out_j[p * maxlen + k] = j - 1; k++;
            if (i == 1 && j == 1) break;
            double dg = D[(i - 1) * W + j - 1], up = D[(i - 1) * W + j], lf = D[i * W + j - 1];
            if (dg <= up && dg <= lf) { i--; j--; }
            else if (up <= lf) { i--; }
            else { j--; }
        }
        out_len[p] = k;
    }
    free(D);
}

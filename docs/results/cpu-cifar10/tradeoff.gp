# written by dlgn sweep; re-render in this folder with: gnuplot tradeoff.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 1440,664 font "sans,11"
} else {
  set terminal png size 1440,664
}
set termoption noenhanced
set output "tradeoff.png"
set multiplot layout 1,2 title "cpu-cifar10: test accuracy against interpretability"
set xrange [-0.5:3.5]
set xtics ("dnn" 0, "dgn" 1, "dlgn" 2, "dlgn-sf" 3)
set xlabel "model class (interpretability rises to the right)"
set ylabel "test accuracy, hard gates (%), mean and std over seeds"
set grid ytics
set key below
set yrange [28.3:53.2]
set title "fc, depth 5, width 128"
plot "tradeoff.dat" index 0 using 1:2:3 with yerrorlines lc rgb "#1b9e77" pt 7 ps 1.5 lw 1.5 dt 1 title "joint", \
     "tradeoff.dat" index 1 using 1:2:3 with yerrorlines lc rgb "#d95f02" pt 6 ps 1.5 lw 1.5 dt 1 title "joint, ones input", \
     "tradeoff.dat" index 2 using 1:2:3 with yerrorlines lc rgb "#7570b3" pt 5 ps 1.5 lw 1.5 dt 1 title "fixed-learnt", \
     "tradeoff.dat" index 3 using 1:2:3 with yerrorlines lc rgb "#e7298a" pt 4 ps 1.5 lw 1.5 dt 1 title "fixed-learnt, ones input", \
     "tradeoff.dat" index 4 using 1:2:3 with yerrorlines lc rgb "#66a61e" pt 4 ps 1.5 lw 1.5 dt 2 title "fixed-learnt, ones input, shuffled layers", \
     "tradeoff.dat" index 5 using 1:2:3 with yerrorlines lc rgb "#e6ab02" pt 4 ps 1.5 lw 1.5 dt 2 title "fixed-learnt, ones input, shuffled channels", \
     "tradeoff.dat" index 6 using 1:2:3 with yerrorlines lc rgb "#a6761d" pt 9 ps 1.5 lw 1.5 dt 1 title "fixed-random", \
     "tradeoff.dat" index 7 using 1:2:3 with yerrorlines lc rgb "#666666" pt 8 ps 1.5 lw 1.5 dt 1 title "fixed-random, ones input"
set yrange [37.5:61.4]
set title "c4gap, depth 4, width 32"
plot "tradeoff.dat" index 8 using 1:2:3 with yerrorlines lc rgb "#1b9e77" pt 7 ps 1.5 lw 1.5 dt 1 title "joint", \
     "tradeoff.dat" index 9 using 1:2:3 with yerrorlines lc rgb "#d95f02" pt 6 ps 1.5 lw 1.5 dt 1 title "joint, ones input", \
     "tradeoff.dat" index 10 using 1:2:3 with yerrorlines lc rgb "#7570b3" pt 5 ps 1.5 lw 1.5 dt 1 title "fixed-learnt", \
     "tradeoff.dat" index 11 using 1:2:3 with yerrorlines lc rgb "#e7298a" pt 4 ps 1.5 lw 1.5 dt 1 title "fixed-learnt, ones input", \
     "tradeoff.dat" index 12 using 1:2:3 with yerrorlines lc rgb "#66a61e" pt 4 ps 1.5 lw 1.5 dt 2 title "fixed-learnt, ones input, shuffled layers", \
     "tradeoff.dat" index 13 using 1:2:3 with yerrorlines lc rgb "#666666" pt 8 ps 1.5 lw 1.5 dt 1 title "fixed-random, ones input"
unset multiplot

# The plot of bench/results.md: one bar per figure, ours relative to QEMU's
# with "better" pointing up (time and cost figures are inverted), on a log
# scale so that 2x ahead and 2x behind are the same height.
#   gnuplot -e "datafile='build/bench/plot.dat'; outfile='bench/results.png'" bench/plot.gp
# datafile: lines of `index "label" ratio`.
set terminal pngcairo size 1200,680 font "DejaVu Sans,10"
set output outfile
set title "vmm relative to QEMU microvm (same guests; above 1 = vmm better)"
set logscale y 2
set yrange [0.125:16]
set ytics ("1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set grid ytics
set xtics rotate by -40 left noenhanced
set bmargin 11
set rmargin 14
set offsets 0.6, 0.6, 0, 0
set style fill solid 0.8 border -1
set boxwidth 0.7
unset key
# Bars start at 1: green when ahead, red when behind.
plot datafile using 1:(1):(($1)-0.35):(($1)+0.35):(($3) < 1 ? ($3) : 1):(($3) < 1 ? 1 : ($3)):(($3) >= 1 ? 0x3a9a4a : 0xc0392b):xtic(2) \
	with boxxyerror lc rgb variable, \
     '' using 1:3:(sprintf("%.2f", $3)) with labels offset 0,char 0.8 font ",8", \
     1 with lines lc rgb "black" lw 1

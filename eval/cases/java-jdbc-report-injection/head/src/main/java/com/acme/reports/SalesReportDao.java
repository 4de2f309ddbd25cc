package com.acme.reports;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

public class SalesReportDao {
    private final DataSource dataSource;

    public SalesReportDao(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public List<SalesRow> monthly(LocalDate from, LocalDate to, String region, String category)
            throws SQLException {
        StringBuilder sql = new StringBuilder(
                "SELECT region, category, date_trunc('month', sold_at) AS month, SUM(amount) AS total "
                        + "FROM sales WHERE sold_at >= '" + from + "' AND sold_at < '" + to + "'");
        if (region != null && !region.isBlank()) {
            sql.append(" AND region = '").append(region).append("'");
        }
        if (category != null && !category.isBlank()) {
            sql.append(" AND category = '").append(category).append("'");
        }
        sql.append(" GROUP BY 1, 2, 3 ORDER BY 3, 1, 2");
        try (Connection c = dataSource.getConnection()) {
            Statement st = c.createStatement();
            ResultSet rs = st.executeQuery(sql.toString());
            List<SalesRow> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(new SalesRow(rs.getString("region"), rs.getString("category"),
                        rs.getObject("month", LocalDate.class), rs.getBigDecimal("total")));
            }
            return rows;
        }
    }

    public record SalesRow(String region, String category, LocalDate month, BigDecimal total) {}
}
